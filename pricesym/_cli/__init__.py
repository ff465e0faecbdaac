"""The `pricesym` command line."""
