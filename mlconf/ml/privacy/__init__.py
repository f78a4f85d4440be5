"""Privacy: find PII in columns, and drop or hash it the same way in training and serving."""

from mlconf.components.pii_guard import PiiGuard, hash_values, protect
from mlconf.ml.privacy.detect import KINDS, luhn_valid, mask, scan_column

__all__ = ["KINDS", "PiiGuard", "hash_values", "luhn_valid", "mask", "protect", "scan_column"]
