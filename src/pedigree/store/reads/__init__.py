"""The store's read interface, one part per area, joined in ``store.reader.Reader``."""
