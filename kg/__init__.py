"""The knowledge graph core: store, IRIs, regulations, events."""
