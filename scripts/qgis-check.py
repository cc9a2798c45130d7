"""Open the burned-area outputs in QGIS (PyQGIS, headless) and report how QGIS sees them.

Manual check, not part of ``make test`` (QGIS is a large install)::

    sudo apt-get install --no-install-recommends python3-qgis qgis-providers
    /usr/bin/python3 scripts/qgis-check.py OUT_DIR_OF_RUS_BURN

Prints JSON: the renderer QGIS gives ``severity.tif`` on open and after its default style
(the ``.qml`` beside it), the class colours and labels, and validity, CRS, no-data and feature
counts of the other outputs. Results are recorded in docs/burned-area.md.
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import Qgis, QgsApplication, QgsRasterLayer, QgsVectorLayer

app = QgsApplication([], False)
app.initQgis()
out = sys.argv[1]
res = {"qgis": Qgis.QGIS_VERSION}
sev = QgsRasterLayer(f"{out}/severity.tif", "severity")
res["severity_valid"] = sev.isValid()
r = sev.renderer()
res["severity_renderer_on_open"] = r.type() if r else None
# QGIS applies a same-named .qml as the default style when a layer is added by the GUI;
# loadDefaultStyle() is that step
msg, ok = sev.loadDefaultStyle()
r = sev.renderer()
res["default_style_loaded"] = ok
res["severity_renderer_after_default_style"] = r.type()
if r.type() == "paletted":
    res["classes"] = [(c.value, c.color.name(), c.label) for c in r.classes()]
res["severity_crs"] = sev.crs().authid()
for name in ("dnbr", "rbr", "rdnbr"):
    lyr = QgsRasterLayer(f"{out}/{name}.tif", name)
    dp = lyr.dataProvider()
    res[name] = {
        "valid": lyr.isValid(),
        "crs": lyr.crs().authid(),
        "type": int(dp.dataType(1)),
        "nodata": dp.sourceNoDataValue(1),
        "renderer": lyr.renderer().type(),
    }
for layer in ("burned_severity", "burned_perimeter"):
    v = QgsVectorLayer(f"{out}/burned.gpkg|layername={layer}", layer, "ogr")
    res[layer] = {
        "valid": v.isValid(),
        "features": v.featureCount(),
        "crs": v.crs().authid(),
        "fields": [f.name() for f in v.fields()],
    }
kml = QgsVectorLayer(f"{out}/burned.kml", "kml", "ogr")
res["kml"] = {"valid": kml.isValid(), "features": kml.featureCount()}
print(json.dumps(res, indent=1, default=str))
sys.stdout.flush()
os._exit(0)  # QGIS 3.22 may crash in exitQgis() when headless; nothing is left to save
