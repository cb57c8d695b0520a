"""The directory of community digital technology teams (tổ công nghệ số cộng đồng) and
the routing of a citizen's case to one of them.

- `provinces`: the 34 provinces of the 2025 map and the 29 former ones they absorbed;
- `directory`: the in-memory directory (province -> commune/ward -> team; no districts)
  and its loader for YAML and CSV files, with line-aware errors;
- `store`: the directory in the database (idempotent import, load);
- `routing`: a citizen's free-text location -> team, and working hours.

May import `core` only. File format and commands: docs/teams.md.
"""
