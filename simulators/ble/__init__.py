"""Simulated BLE peripherals on bumble, encoded from the Bluetooth SIG specifications and
public device documentation (never from vitalsd's decoders)."""
