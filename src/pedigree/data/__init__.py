"""Data: digests, canonical manifests (Merkle trees) and dataset versions."""
