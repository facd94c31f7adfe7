"""Monthly publication of each district's provider list (一(四))."""
