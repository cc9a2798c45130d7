// AOI drawing: a Leaflet map with leaflet-draw; the drawn shape is written as GeoJSON into the
// #aoi textarea (which stays editable, so keyboard users can type WKT/GeoJSON instead).
(function () {
  "use strict";
  var el = document.getElementById("aoi-map");
  var field = document.getElementById("aoi");
  if (!el || !field || typeof L === "undefined") { return; }
  var map = L.map(el, { worldCopyJump: false }).setView([45, 10], 3);
  // No tile server by default (users may be offline): a 10-degree graticule for orientation.
  var grid = L.layerGroup().addTo(map);
  for (var lon = -180; lon <= 180; lon += 10) {
    L.polyline([[-85, lon], [85, lon]], { color: "#8a94a6", weight: 1 }).addTo(grid);
  }
  for (var lat = -80; lat <= 80; lat += 10) {
    L.polyline([[lat, -180], [lat, 180]], { color: "#8a94a6", weight: 1 }).addTo(grid);
  }
  var osm = L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 18, attribution: "&copy; OpenStreetMap contributors"
  });
  L.control.layers({}, { "OpenStreetMap (online)": osm, "Graticule": grid }).addTo(map);
  var drawn = new L.FeatureGroup().addTo(map);
  map.addControl(new L.Control.Draw({
    edit: { featureGroup: drawn },
    draw: { polyline: false, circle: false, marker: false, circlemarker: false,
            polygon: { allowIntersection: false, showArea: true }, rectangle: true }
  }));
  function save() {
    var layers = drawn.getLayers();
    field.value = layers.length ? JSON.stringify(layers[0].toGeoJSON().geometry) : "";
  }
  map.on(L.Draw.Event.CREATED, function (e) { drawn.clearLayers(); drawn.addLayer(e.layer); save(); });
  map.on(L.Draw.Event.EDITED, save);
  map.on(L.Draw.Event.DELETED, save);
  try {  // show an AOI already in the field (form re-displayed after an error)
    if (field.value.trim().charAt(0) === "{") {
      var shown = L.geoJSON(JSON.parse(field.value));
      shown.eachLayer(function (l) { drawn.addLayer(l); });
      map.fitBounds(drawn.getBounds());
    }
  } catch (err) { /* not GeoJSON: leave the text as it is */ }
})();
