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
