"""Bluetooth LE drivers: the SIG health profiles (GATT characteristic decoders).

Source of truth: shared/reference/ble-health.md. Decoders here are pure functions of a
notification's bytes; the GATT link that delivers them comes in a later part.
"""
