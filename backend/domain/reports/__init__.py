"""Reports: sales dashboards and statistics, read from the vending and ledger records."""
