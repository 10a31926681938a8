"""The domain of the 扫码入企 inspection logbook. Nothing in this package imports Flask."""
