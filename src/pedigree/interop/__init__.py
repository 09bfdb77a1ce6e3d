"""Interoperability with other tools: bringing their records into Pedigree.

Each tool is a subpackage (:mod:`pedigree.interop.mlflow`) that reads the other tool's store
through that tool's own client, imported lazily (only the import command needs it), and records
what it finds as ordinary Pedigree records through the typed events, each marked with where it
came from (``import.recorded``), so that a second import adds nothing.
"""
