"""Login and logout: Django owns them now, for both apps; legacy roles become groups."""
