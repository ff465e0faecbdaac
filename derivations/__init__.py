"""The pricesym catalogue: one module per topic, each registering derivations
through the public API, exactly as a user's own derivation file does. Installed
as `pricesym.catalogue`; `ps.load()` and every `pricesym` command see it."""
