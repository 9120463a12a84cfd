// Small enhancements; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-copy]")) {
    if (!navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const input = document.querySelector(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(input.value);
        const label = button.textContent;
        button.textContent = button.dataset.copied;
        setTimeout(() => { button.textContent = label; }, 2000);
      } catch {
        input.select();
      }
    });
  }
});

// Characters left in a comment: the limit is enforced by the server and `maxlength` anyway.
document.addEventListener("DOMContentLoaded", () => {
  for (const area of document.querySelectorAll("textarea[data-counter]")) {
    const counter = area.closest("form")?.querySelector(".counter");
    if (!counter) continue;
    const limit = Number(area.getAttribute("maxlength"));
    const format = new Intl.NumberFormat(document.documentElement.lang);
    const update = () => {
      const left = limit - area.value.length;
      counter.textContent = area.dataset.counter.replace("{count}", format.format(left));
      counter.classList.toggle("counter--over", left < 0);
    };
    counter.hidden = false;
    area.addEventListener("input", update);
    update();
  }
});

// Rallies: the reader's own time beside an event's local time, when their zones differ; and the
// proposal form's time zone preset to the browser's. Without this, the event's time stands.
document.addEventListener("DOMContentLoaded", () => {
  let readerZone = "";
  try {
    readerZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    return;
  }
  const lang = document.documentElement.lang;
  for (const time of document.querySelectorAll("time[data-zone][data-reader-time]")) {
    const eventZone = time.dataset.zone;
    if (!readerZone || readerZone === eventZone) continue;
    const moment = new Date(time.getAttribute("datetime"));
    if (Number.isNaN(moment.getTime())) continue;
    try {
      const style = { dateStyle: "full", timeStyle: "short" };
      const here = new Intl.DateTimeFormat(lang, style).format(moment);
      const there = new Intl.DateTimeFormat(lang, { ...style, timeZone: eventZone }).format(moment);
      if (here === there) continue; // another zone, the same clock
      const note = document.createElement("span");
      note.className = "local-time";
      note.textContent = time.dataset.readerTime.replace("{time}", here);
      (time.closest(".event-when") ?? time.parentNode).append(note);
    } catch {
      // An engine without this zone or locale: the event's own time is enough.
    }
  }
  for (const select of document.querySelectorAll("select[data-guess-zone]")) {
    if ([...select.options].some((option) => option.value === readerZone)) {
      select.value = readerZone;
    }
  }
});

// Rallies: a map of the listed events that have coordinates, when Leaflet and the map tiles can
// be loaded. The list above stands on its own; the map stays hidden if anything fails.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("events-map");
  if (!box) return;
  const places = [...document.querySelectorAll(".event-card[data-lat][data-lon]")]
    .map((card) => {
      const link = card.querySelector(".event-card__title a");
      return {
        lat: Number(card.dataset.lat),
        lon: Number(card.dataset.lon),
        title: link ? link.textContent : "",
        href: link ? link.getAttribute("href") : "",
      };
    })
    .filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon));
  if (!places.length) return;
  const css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = box.dataset.leafletCss;
  document.head.append(css);
  const script = document.createElement("script");
  script.src = box.dataset.leaflet;
  script.onload = () => {
    const L = window.L;
    if (!L) return;
    box.hidden = false;
    const map = L.map(box, { scrollWheelZoom: false });
    L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
      maxZoom: 18,
      attribution: box.dataset.attribution,
    }).addTo(map);
    const bounds = [];
    for (const place of places) {
      const marker = L.marker([place.lat, place.lon], { title: place.title, alt: place.title });
      const link = document.createElement("a");
      link.href = place.href;
      link.textContent = place.title;
      marker.bindPopup(link).addTo(map);
      bounds.push([place.lat, place.lon]);
    }
    map.fitBounds(bounds, { padding: [30, 30], maxZoom: 12 });
    box.dataset.ready = String(places.length);
  };
  document.head.append(script);
});

// Posters and signature sheets: a Print button; without this file, the browser's own command.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-print]")) {
    if (typeof window.print !== "function") continue;
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
});
