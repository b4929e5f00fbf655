// Chapterhouse: the site's only script, and a progressive one. Pages work without it.
// A "copy" button (hidden until this script shows it) copies its data-copy text, e.g. the chapter's handle.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // A button that removes or deletes asks first (data-confirm); without the script the form just submits.
  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });
  if (!navigator.clipboard) return;
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(button.dataset.copy).then(function () {
        button.textContent = button.dataset.copied || label;
        setTimeout(function () { button.textContent = label; }, 2000);
      });
    });
  });
});
