"""Scripts run with the services' venv python (openstacksdk available there)."""
