"""channels/sms"""
