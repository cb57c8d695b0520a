"""A small fictional directory with the same commune name ("Tân Lập") in several provinces.

(This folder has no `__init__.py` and no conftest.py: as a package it would be imported as
`teams` and shadow the real package; the test modules import this one by its full name.)
"""

from __future__ import annotations

from pathlib import Path

from teams.directory import Directory, parse_yaml

DIRECTORY_YAML = """\
hours:
  mon-fri: ["07:30-11:30", "13:30-17:00"]
holidays: [2026-09-02]
central:
  name: Tổ hỗ trợ trung tâm
  telegram_chat_id: -1000000000001
  phone: "1900 1234"
  hours: {mon-sun: ["00:00-24:00"]}
  members:
    - {telegram_id: 1001, name: Điều phối viên Một, role: leader}
provinces:
  - name: Thái Nguyên
    default_team:
      name: Tổ hỗ trợ tỉnh Thái Nguyên
      telegram_chat_id: "-1000000000100"
      phone: "0208 3000 100"
      members:
        - {telegram_id: 2001, name: Cán bộ Tỉnh}
    communes:
      - name: Tân Lập
        kind: xã
        team:
          name: Tổ CNSCĐ xã Tân Lập (Thái Nguyên)
          telegram_chat_id: "-1000000000101"
          phone: "0912 345 101"
          members:
            - {telegram_id: 2101, name: Nguyễn Văn An, role: tổ trưởng}
            - {telegram_id: 2102, name: Trần Thị Bình}
      - name: Phường Tích Lương
        aliases: [Phú Xá, Cam Giá]
        team:
          name: Tổ CNSCĐ phường Tích Lương
          telegram_chat_id: "-1000000000102"
          phone: "0912 345 102"
          hours:
            mon-fri: ["07:30-11:30", "13:30-17:00"]
            sat: ["07:30-11:30"]
          holidays: [2026-12-24]
          members:
            - {telegram_id: 2201, name: Lê Văn Cường}
  - name: Phú Thọ
    communes:
      - name: Tân Lập
        kind: xã
        team:
          name: Tổ CNSCĐ xã Tân Lập (Phú Thọ)
          telegram_chat_id: "-1000000000201"
          phone: "0912 345 201"
          members:
            - {telegram_id: 3101, name: Phạm Thị Dung}
      - name: Xuân Lũng
        kind: xã
  - name: Tuyên Quang
    default_team:
      name: Tổ hỗ trợ tỉnh Tuyên Quang
      telegram_chat_id: "-1000000000300"
      phone: "0207 3000 300"
      members:
        - {telegram_id: 4001, name: Hoàng Văn Em}
    communes:
      - name: Tân Lập
        kind: phường
        team:
          name: Tổ CNSCĐ phường Tân Lập (Tuyên Quang)
          telegram_chat_id: "-1000000000301"
          phone: "0912 345 301"
          members:
            - {telegram_id: 4101, name: Vi Thị Giang}
  - name: TP. Hồ Chí Minh
    communes:
      - name: Sài Gòn
        kind: phường
        aliases: [Bến Nghé]
        team:
          name: Tổ CNSCĐ phường Sài Gòn
          telegram_chat_id: "-1000000000401"
          phone: "028 3000 401"
          members:
            - {telegram_id: 5101, name: Lâm Văn Hải}
"""


def sample_directory() -> Directory:
    return parse_yaml(DIRECTORY_YAML, "directory.yml")


def write(tmp_path: Path, text: str = DIRECTORY_YAML, name: str = "directory.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path
