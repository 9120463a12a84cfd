"""The load benchmark behind `make bench`.

`python -m bench.run --help` lists the options. The runner (`bench.run`) prepares a database of
its own, serves the app with gunicorn, and drives it over HTTP from a separate process
(`bench.load`); the other modules are its parts:

- `bench.environment`: which services are reachable, and the database and Redis the run owns;
- `bench.dataset`: campaigns with existing signatures, the raw insert rate, the final check;
- `bench.server`: gunicorn, the optional mail worker and SendGrid stand-in, CPU and memory;
- `bench.client`: a small keep-alive HTTP client that keeps one browser's cookies;
- `bench.export`: the organizers' CSV export, and the memory it takes;
- `bench.report`: the machine and the printed tables.
"""
