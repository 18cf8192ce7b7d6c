"""The one space of a router that a one-vector-per-text caller embeds into.

A framework embedding (LangChain ``Embeddings``, LlamaIndex ``BaseEmbedding``) turns each
text and each query into one vector, with no language routing. Only the router's shared
space holds every text, so that is where such vectors go and are searched; a routed
space would miss the texts routed elsewhere.
"""

from __future__ import annotations

from embedweave.routing import Router


def single_vector_space(router: Router, name: str | None = None, *, argument: str = "space") -> str:
    """The space a single-vector caller of ``router`` uses: ``name``, else the shared space.

    Args:
        router: The router whose spaces the store holds.
        name: A space chosen by the caller (any of the router's spaces).
        argument: The caller's parameter naming a space, for the error message.

    Raises:
        ValueError: for a name the router does not have, or no name and no shared space.
    """
    if name is not None:
        if name not in router.spaces:
            raise ValueError(
                f"{argument} {name!r} is not one of the router's spaces {sorted(router.spaces)}"
            )
        return name
    shared = router.table.shared
    if shared is None:
        raise ValueError(
            "the router has no shared space, the only one holding every text: pass "
            f"{argument}=, one of {sorted(router.spaces)}"
        )
    return shared


__all__ = ["single_vector_space"]
