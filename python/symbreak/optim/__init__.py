"""Energy Conserving Descent optimizers for torch: ``ECD`` (q = 1, scaled), ``ECDSep`` and ``BBI``.

Drop-in ``torch.optim.Optimizer`` subclasses (spec: docs of each class). This subpackage needs torch;
``import symbreak`` does not import it. Example::

    from symbreak.optim import ECD
    opt = ECD(model.parameters(), lr=1.0, eta=100.0, F0=2.0)
"""

from .bbi import BBI
from .ecd import ECD
from .ecdsep import ECDSep

__all__ = ["ECD", "ECDSep", "BBI"]
