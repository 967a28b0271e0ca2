"""BLE test support: a virtual radio, a ready bumble central, a bleak backend over bumble."""
