# Thin wrappers over scripts/: see the README and each script's header.
.PHONY: setup run test lint engine-test bench clean

setup:
	bash scripts/setup.sh

# Odoo with lead_intelligence and demo data on http://127.0.0.1:8069 (admin / admin).
run:
	bash scripts/run.sh

# Lint, engine tests, then Odoo tests of lead_intelligence and of crm with it installed.
test:
	bash scripts/test.sh

lint:
	bash scripts/test.sh lint

engine-test:
	bash scripts/test.sh engine

bench:
	bash scripts/bench.sh rescore --leads 100000

# Drops the make run database, removes logs, test files and caches (keeps the virtualenv).
clean:
	-bash scripts/run.sh --drop
	rm -rf .local/logs .local/data .ruff_cache .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
