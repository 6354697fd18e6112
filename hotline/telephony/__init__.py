"""The switch: the boundary between the contact-centre logic and a telephone switch, the simulated
switch used by tests, the simulator and the demo, and (SIP issue) the SIP switch on sippy + rtpengine.
"""
