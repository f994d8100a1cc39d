from . import test_pass_automations
