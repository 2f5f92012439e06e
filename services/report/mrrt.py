"""A template as IHE MRRT XHTML (the format of the RSNA RadReport library), for exchange.

The stored JSON is the source; this rendering gives the same sections, fields and coded
concepts in MRRT's shape: Dublin Core metadata, ``template_attributes`` with the coding schemes
and each field's term in a ``<script type="text/xml">``, and one ``<section>`` per section.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from services.domain.clinical_codes import LOINC, RADLEX, SNOMED_CT, Concept
from services.domain.report_template import TemplateDefinition, TemplateField

XHTML = "http://www.w3.org/1999/xhtml"
# MRRT coding scheme names and the HL7 OIDs that designate them.
SCHEMES = {
    RADLEX: ("RADLEX", "2.16.840.1.113883.6.256"),
    SNOMED_CT: ("SNOMEDCT", "2.16.840.1.113883.6.96"),
    LOINC: ("LOINC", "2.16.840.1.113883.6.1"),
}
_FIELD_TYPE = {
    "text": "TEXT",
    "choice": "SELECTION",
    "finding": "SELECTION",
    "measurement": "NUMBER",
    "differentials": "TEXT",
}


def _scheme(concept: Concept) -> str:
    return SCHEMES.get(concept.system, ("RADBRIDGE", ""))[0]


def _code(parent: ET.Element, concept: Concept) -> None:
    term = ET.SubElement(parent, "term")
    ET.SubElement(
        term, "code", meaning=concept.display, value=concept.code, scheme=_scheme(concept)
    )


def _attributes(template: TemplateDefinition, head: ET.Element) -> None:
    script = ET.SubElement(head, "script", type="text/xml")
    attributes = ET.SubElement(script, "template_attributes")
    ET.SubElement(attributes, "top-level-flag").text = "true"
    ET.SubElement(attributes, "status").text = "ACTIVE"
    schemes = ET.SubElement(attributes, "coding_schemes")
    for name, designator in SCHEMES.values():
        ET.SubElement(schemes, "coding_scheme", name=name, designator=designator)
    if template.procedure is not None:
        _code(attributes, template.procedure)
    coded = ET.SubElement(attributes, "coded_content")
    for field in template.fields().values():
        if field.concept is not None:
            entry = ET.SubElement(coded, "entry", ORIGTXT=field.id)
            _code(entry, field.concept)


def _input(parent: ET.Element, field: TemplateField) -> None:
    line = ET.SubElement(parent, "p")
    ET.SubElement(line, "label", {"for": field.id}).text = field.label
    common = {"id": field.id, "name": field.id, "data-field-type": _FIELD_TYPE[field.kind]}
    if field.kind in {"choice", "finding"}:
        select = ET.SubElement(line, "select", common)
        for option in field.options or ("present", "absent"):
            ET.SubElement(select, "option", value=option).text = option
        return
    if field.kind == "measurement":
        attrs = {**common, "type": "number", "data-field-units": field.unit}
        if field.minimum is not None:
            attrs["min"] = f"{field.minimum:g}"
        if field.maximum is not None:
            attrs["max"] = f"{field.maximum:g}"
        ET.SubElement(line, "input", attrs)
        return
    ET.SubElement(line, "textarea", common).text = str(field.default or "")


def render_mrrt(template: TemplateDefinition, *, identifier: str, version: int) -> str:
    """Return ``template`` as an MRRT XHTML document."""
    html = ET.Element("html", xmlns=XHTML, lang=template.language)
    head = ET.SubElement(html, "head")
    ET.SubElement(head, "meta", charset="UTF-8")
    ET.SubElement(head, "title").text = template.title
    for name, value in (
        ("dcterms.title", template.title),
        ("dcterms.identifier", identifier),
        ("dcterms.language", template.language),
        ("dcterms.type", "IMAGE_REPORT_TEMPLATE"),
        ("dcterms.publisher", "RadBridge"),
        ("dcterms.description", f"{template.key} v{version}"),
    ):
        ET.SubElement(head, "meta", name=name, content=value)
    _attributes(template, head)
    body = ET.SubElement(html, "body")
    for section in template.sections:
        block = ET.SubElement(body, "section", {"id": section.id, "class": "level1"})
        block.set("data-section-name", section.kind)
        ET.SubElement(block, "header", {"class": "level1"}).text = section.title
        for field in section.fields:
            _input(block, field)
    return "<!DOCTYPE html>\n" + ET.tostring(html, encoding="unicode")
