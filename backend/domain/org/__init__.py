"""Organisation: the utility, its regions and its vending stations/offices."""
