"""channels/ussd"""
