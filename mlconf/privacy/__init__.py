"""Privacy: find PII in columns, and drop or hash it the same way in training and serving."""

from mlconf.privacy.detect import KINDS, luhn_valid, mask, scan_column
from mlconf.privacy.guard import PiiGuard, hash_values, protect

__all__ = ["KINDS", "PiiGuard", "hash_values", "luhn_valid", "mask", "protect", "scan_column"]
