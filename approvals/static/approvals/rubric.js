/* The rubric's running total (approvals/_rubric.html). Progressive enhancement: the server renders
   the total of what was sent; this keeps it up to date while typing. No inline script (CSP). */
(function () {
  "use strict";
  function update(rubric) {
    var total = 0;
    rubric.querySelectorAll("input[type=number]").forEach(function (input) {
      var value = parseInt(input.value, 10);
      if (!isNaN(value)) {
        total += value;
      }
    });
    var output = rubric.querySelector("output");
    if (output) {
      output.textContent = String(total);
    }
  }
  document.querySelectorAll("[data-rubric]").forEach(function (rubric) {
    rubric.addEventListener("input", function () { update(rubric); });
    update(rubric);
  });
})();
