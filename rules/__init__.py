"""Built-in rules and detector data, shipped inside the package as scanner.rules."""
