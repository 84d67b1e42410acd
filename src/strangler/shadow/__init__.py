"""Shadow mode and replay: prove a ported view answers like the Flask view it replaces.

See docs/shadow.md.
"""
