"""MQTT transport pieces: topic layout, payload documents and their schema, the client loop.

The output itself is ``vitalsd.outputs.mqtt``; ``vitalsd tail`` reads the same topics.
"""
