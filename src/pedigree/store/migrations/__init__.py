"""Alembic migrations of the metadata store.

``HEAD_REVISION`` lets the store check that its schema is current without importing Alembic
(which costs a quarter of a second); a test keeps it equal to the migrations' real head.
"""

HEAD_REVISION = "0009"
