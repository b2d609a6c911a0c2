/* The tablet card: warn while typing a measured value outside the step's limits
   (article[data-min], [data-max]). Only a hint: the page works without it, and the
   service decides (a value outside its limits raises a defect). */
document.addEventListener("input", function (event) {
  var input = event.target;
  if (!input.matches || !input.matches("article.step input[name=value]")) return;
  var step = input.closest("article.step");
  var warning = input.closest("form").querySelector(".limit-warning");
  if (!step || !warning) return;
  var value = parseFloat(input.value);
  var min = step.hasAttribute("data-min") ? parseFloat(step.dataset.min) : null;
  var max = step.hasAttribute("data-max") ? parseFloat(step.dataset.max) : null;
  var outside = !isNaN(value) && ((min !== null && value < min) || (max !== null && value > max));
  warning.textContent = outside
    ? "Outside the limits: signing this value raises a defect that grounds the aircraft until it is deferred or rectified."
    : "";
  input.setAttribute("aria-invalid", outside ? "true" : "false");
});
