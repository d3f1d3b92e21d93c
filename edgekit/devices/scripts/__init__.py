"""Scripts that run on the device with `python -c` (standard library only); see common.py."""
