"""Low-level STS primitives ("hazardous materials"): use the safe API in :mod:`sts` unless you
need a single building block.

Modules: ``ea07`` (STA), ``ea09`` (single DES, UNVERIFIED), ``ea11`` (MISTY1), ``dkga01``
(UNVERIFIED), ``dkga02``, ``dkga03`` (UNVERIFIED), ``dkga04``, ``dkga_blocks`` (PANBlock,
CONTROLBlock), ``crc``, ``bits`` (class-bit transposition, digits), ``amount``, ``tables``.
"""
