"""Byte-faithful device simulators, written from each protocol's own definition.

Nothing here imports vitalsd, drivers or hl7: an encoder that shared the decoder's code
could share its bugs, and then the tests would prove nothing.
"""
