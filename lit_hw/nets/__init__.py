"""Plain nn.Modules with no Lightning in them; task modules in lit_hw.tasks wrap them."""
