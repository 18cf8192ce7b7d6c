"""Old import path of the managed server, kept so existing code keeps working.

The server is process management, not a store: it lives in ``embedweave.server``.
"""

from embedweave.server.managed import *  # noqa: F403
from embedweave.server.managed import ManagedWeaviate as ManagedWeaviate
