"""User text, read safely (`parse`: an allow-list, never `eval`), and `verify`,
which decides whether two expressions are equal."""
