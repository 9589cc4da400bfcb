"""The bytes a layer moves: what the roofline sets its FLOPs against.

For a leaf module: its inputs, its own parameters and buffers, and its outputs, once per call. For a
container: what its own operators write (a residual add, a squeeze-excite's scale), twice (they read at
least as much), and its own parameters and buffers. Caches are ignored: every byte counts once per call.
"""

from __future__ import annotations

import math

from .records import LayerRecord

__all__ = ["bytes_moved"]


def bytes_moved(record: LayerRecord, element_bytes: int) -> int:
    """Bytes ``record``'s calls read and write in one forward, at ``element_bytes`` per element (see above)."""
    if record.is_leaf:
        elements = sum(math.prod(shape) for shape in (*record.input_shapes, *record.output_shapes))
        return (elements + record.params + record.buffers) * element_bytes * max(record.calls, 1)
    return 2 * record.output_bytes + (record.params + record.buffers) * element_bytes
