"""The probe standardises the test features with their own mean and standard deviation.

Question: q3
Message: the test features are standardised with their own mean and standard deviation
The test set's statistics leak into the classifier's input, and a shift between the two splits is hidden.
"""


def linear_probe(train_features, train_labels, test_features, weight_decay=1e-2, num_classes=10):
    ftr = torch.as_tensor(train_features).detach().double()
    fte = torch.as_tensor(test_features).detach().double().to(ftr.device)
    ytr = torch.as_tensor(train_labels).to(ftr.device).long()

    def design(f):
        f = (f - f.mean(0)) / (f.std(0) + 1e-6)
        return torch.cat([f, torch.ones(len(f), 1, dtype=f.dtype, device=f.device)], dim=1)

    A = design(ftr)
    W = torch.zeros(A.shape[1], num_classes, dtype=A.dtype, device=A.device, requires_grad=True)
    optimiser = torch.optim.LBFGS([W], lr=1, max_iter=500, tolerance_grad=1e-9, tolerance_change=1e-12,
                                  history_size=20, line_search_fn="strong_wolfe")

    def closure():
        optimiser.zero_grad()
        loss = F.cross_entropy(A @ W, ytr) + weight_decay * (W[:-1] ** 2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():
        return (design(fte) @ W).argmax(dim=1)
