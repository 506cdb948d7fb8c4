"""Customers and their accounts (CRM): who is supplied where, on which tariff and payment mode."""
