"""``WeaviateStore``: one Weaviate collection per index, one named vector per space.

``store`` holds the class (writes, reads, search); ``schema`` the collection's shape and
space records; ``properties`` how chunks map to properties; ``filters`` the filter
translation; ``connection`` the client set-up.
"""

from embedweave.store.weaviate.properties import metadata_property, storage_uuid
from embedweave.store.weaviate.store import WeaviateStore

__all__ = ["WeaviateStore", "metadata_property", "storage_uuid"]
