"""One module per system the rotation machine works with (a Store, an Issuer, or both), and
the registry that builds them from `providers:` in the config."""
