"""hardware_bridge"""
