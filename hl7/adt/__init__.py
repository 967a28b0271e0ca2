"""HL7 ADT/SIU in: the listener that associates patients with rooms (issue 8)."""
