"""The tables Django adopted from the legacy app, and the views ported onto them."""
